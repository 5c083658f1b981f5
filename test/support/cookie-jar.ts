/** The browser's side of cookies, just enough to follow a login hop by hop. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** Reads every Set-Cookie of a response; an expired or emptied cookie is dropped. */
  store(setCookie: string[] | string | undefined): void {
    for (const header of typeof setCookie === 'string' ? [setCookie] : setCookie ?? []) {
      const [pair = '', ...attributes] = header.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=/i.test(a) && new Date(a.split('=')[1]!).getTime() < Date.now());
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  clone(): CookieJar {
    const copy = new CookieJar();
    for (const [name, value] of this.cookies) copy.cookies.set(name, value);
    return copy;
  }
}
