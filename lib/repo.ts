/** The repository's root folder (this file is lib/repo.ts): construct-free, so CLIs can use it cheaply. */
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..');
