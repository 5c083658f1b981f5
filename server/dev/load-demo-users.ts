import { readFile } from 'node:fs/promises';

/** A demo account of the embedded provider; `username` is also the OIDC subject (`sub`). */
export interface DemoUser {
  username: string;
  password: string;
  name: string;
  email: string;
  email_verified: boolean;
  groups: string[];
}

const USER_FIELDS = new Set(['username', 'password', 'name', 'email', 'email_verified', 'groups']);
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// Values end up in a terminal banner and HTML pages: no control characters (ANSI escapes, newlines).
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export async function loadDemoUsers(path: string): Promise<DemoUser[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read demo users file ${path}: ${(error as Error).message}`);
  }
  return parseDemoUsers(text, path);
}

/** Validates the demo users file and reports every problem in one error that names the file. */
export function parseDemoUsers(text: string, source: string): DemoUser[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`Invalid demo users file ${source}: not valid JSON (${(error as Error).message})`);
  }
  const problems: string[] = [];
  const users = isRecord(document) ? document.users : undefined;
  if (!Array.isArray(users) || users.length === 0) {
    problems.push('expected an object with a non-empty "users" array');
  } else {
    const seen = new Set<string>();
    users.forEach((user, index) => {
      problems.push(...checkUser(user, `users[${index}]`));
      if (isRecord(user) && typeof user.username === 'string') {
        if (seen.has(user.username)) problems.push(`users[${index}].username "${user.username}" is used twice`);
        seen.add(user.username);
      }
    });
  }
  if (problems.length > 0) {
    throw new Error(`Invalid demo users file ${source}: ${problems.join('; ')}`);
  }
  return (users as DemoUser[]).map((user) => ({
    username: user.username,
    password: user.password,
    name: user.name,
    email: user.email,
    email_verified: user.email_verified ?? false,
    groups: [...user.groups],
  }));
}

function checkUser(user: unknown, at: string): string[] {
  if (!isRecord(user)) return [`${at} must be an object`];
  const problems: string[] = [];
  for (const key of Object.keys(user)) {
    if (!USER_FIELDS.has(key)) problems.push(`${at} has unknown field "${key}" (allowed: ${[...USER_FIELDS].join(', ')})`);
  }
  if (typeof user.username !== 'string' || !USERNAME.test(user.username)) {
    problems.push(`${at}.username must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  if (!isCleanString(user.password)) problems.push(`${at}.password must be a non-empty string`);
  if (!isCleanString(user.name)) problems.push(`${at}.name must be a non-empty string`);
  if (!isCleanString(user.email) || !/^[^\s@]+@[^\s@]+$/.test(user.email)) {
    problems.push(`${at}.email must be an e-mail address`);
  }
  if (user.email_verified !== undefined && typeof user.email_verified !== 'boolean') {
    problems.push(`${at}.email_verified must be true or false`);
  }
  if (!Array.isArray(user.groups) || !user.groups.every(isCleanString)) {
    problems.push(`${at}.groups must be an array of non-empty strings (may be empty)`);
  } else if (new Set(user.groups).size !== user.groups.length) {
    problems.push(`${at}.groups lists a group twice`);
  }
  return problems;
}

function isCleanString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && !CONTROL_CHARACTERS.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
