/** The model the predict service serves: a folder under `models/` (declared in lambda/services.ts). */
export const PREDICT_MODEL = 'demo-scorer';
