import path from "node:path";

/** The repository's top folder, for the tests and helpers that start its scripts or read its files. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, "../..");
