/**
 * The biome database's schema, as versioned migrations applied once each, in order, each in its own
 * transaction (tracked in `schema_migrations`).
 *
 * Kept as TypeScript lists of single statements, not `.sql` files: the RDS Data API runs one
 * statement per call (a file would have to be split on `;`, which dollar-quoted bodies and string
 * literals make unreliable), so each migration is written exactly as the statements that are sent,
 * and its checksum covers exactly what runs, statement by statement.
 *
 * Rules: never edit or reorder a released migration (its checksum is recorded and checked); add a
 * new one with the next version. The services (`lambda/ingest`, `lambda/predict`) rely on exactly
 * this schema.
 *
 * Expand/contract: a release applies its migrations (the Infrastructure step of the release
 * pipeline, through the biome database custom resource) while the previous release's code is still
 * live, and that code keeps running until the deploy trigger moves `live`. So every migration must
 * work with the previous release's queries: add (a nullable column, a table, an index), never drop,
 * rename or tighten something the live code uses in the same release. A contract (dropping what no
 * code uses any more) ships one release after the code that stopped using it.
 * test/lambda/biome-database/compatibility-postgres.test.ts runs each release's queries against the
 * schema of the release after it, on a real PostgreSQL.
 */
import { createHash } from 'node:crypto';

export interface Migration {
  /** 1, 2, 3, ...: consecutive, never reused. */
  readonly version: number;
  /** Short snake_case description, e.g. `samples_and_predictions`. */
  readonly name: string;
  /** Single SQL statements, run in order in one transaction. */
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'samples_and_predictions',
    statements: [
      `CREATE TABLE samples (
  sample_id text PRIMARY KEY,
  features jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`,
      `CREATE TABLE predictions (
  id bigserial PRIMARY KEY,
  sample_id text NOT NULL REFERENCES samples (sample_id),
  model text NOT NULL,
  result jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`,
      'CREATE INDEX predictions_sample_id_idx ON predictions (sample_id)',
    ],
  },
  {
    // Expand: which commit's predict code stored a prediction. Nullable, so the previous release's
    // INSERT (without it) keeps working while the new code goes live.
    version: 2,
    name: 'predictions_service_commit',
    statements: ['ALTER TABLE predictions ADD COLUMN service_commit text'],
  },
];

/** Identifies a migration's content; a released migration whose checksum changes is refused. */
export function migrationChecksum(m: Migration): string {
  const h = createHash('sha256').update(`${m.version}\0${m.name}`);
  for (const s of m.statements) h.update('\0').update(s);
  return h.digest('hex');
}

/** Throws unless versions run 1, 2, 3, ... with names in snake_case and at least one statement each. */
export function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `Migration "${m.name}" has version ${m.version} but is number ${i + 1} in the list: versions must run 1, 2, 3, ... in order.`,
      );
    }
    if (!/^[a-z][a-z0-9_]*$/.test(m.name)) {
      throw new Error(`Migration ${m.version} name "${m.name}" must be snake_case (a-z, 0-9, _).`);
    }
    if (m.statements.length === 0 || m.statements.some((s) => s.trim().length === 0)) {
      throw new Error(
        `Migration ${m.version} (${m.name}) must have at least one statement and no empty ones.`,
      );
    }
  });
}

/**
 * One value for the whole list: the custom resource carries it as a property, so adding a
 * migration changes the resource and CloudFormation sends the Update that applies it.
 */
export function migrationsFingerprint(migrations: readonly Migration[] = MIGRATIONS): string {
  const h = createHash('sha256');
  for (const m of migrations) h.update(migrationChecksum(m)).update('\n');
  return h.digest('hex').slice(0, 16);
}
