/**
 * The deployable microservices: each is a folder `lambda/<name>/` with a `handler.ts`, lives in
 * every biome stack behind alias `live`, and is packaged by the build as `<name>-<sha>.zip`.
 * Other folders under `lambda/` are infrastructure functions that CDK deploys itself.
 */
export const SERVICES = ['ingest', 'predict'] as const;
export type ServiceName = (typeof SERVICES)[number];
