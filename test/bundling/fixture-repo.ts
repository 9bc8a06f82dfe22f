/** A throwaway repository tree in a temp dir, so bundler and packaging tests control every file. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface FixtureRepo {
  readonly root: string;
  write(relative: string, content: string): string;
  remove(): void;
}

export function fixtureRepo(files: Record<string, string>): FixtureRepo {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-fixture-'));
  const write = (relative: string, content: string) => {
    const file = path.join(root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  };
  for (const [relative, content] of Object.entries(files)) write(relative, content);
  return { root, write, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Two services that share a module; one also imports a module of its own folder. */
export const SERVICE_FILES: Record<string, string> = {
  'lambda/shared/greeting.ts': 'export const greeting = (who: string): string => `hello ${who}`;\n',
  'lambda/alpha/handler.ts': [
    "import { greeting } from '../shared/greeting';",
    "import { schema } from './schema';",
    "export const handler = async () => ({ ok: true, text: greeting('alpha'), schema });",
    '',
  ].join('\n'),
  'lambda/alpha/schema.ts': "export const schema = 'CREATE TABLE t (id int);\\n';\n",
  'lambda/beta/handler.ts':
    'export const handler = async (event: { n: number }) => ({ ok: true, n: event.n * 2 });\n',
  'lambda/not-a-function/README.md': 'no handler here\n',
};
