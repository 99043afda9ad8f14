// `npm run db:migrate`: applies the committed migrations to DATABASE_URL or the embedded database.
import { openToolDatabase } from "../lib/db/open-tool-database.ts";
import { isMailharborError } from "../lib/errors.ts";

try {
  const database = await openToolDatabase();
  await database.close();
  process.stdout.write("mailharbor: the database schema is up to date\n");
} catch (error) {
  process.stderr.write(`mailharbor: ${isMailharborError(error) ? error.message : String(error)}\n`);
  process.exit(1);
}
