// Prisma CLI configuration. The CLI runs its schema engine as WebAssembly through the
// pg driver adapter, because the native engine cannot be downloaded on offline machines.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { defineConfig } from "prisma/config";

// The schema engine reads catalog columns of types "char" (oid 18) and name (oid 19),
// which the adapter cannot deserialize: present them as text (oid 25).
type FieldsHook = { addFields(fields: { dataTypeID: number }[]): void };
const resultPrototype = pg.Result.prototype as unknown as FieldsHook;
const addFields = resultPrototype.addFields;
resultPrototype.addFields = function (this: FieldsHook, fieldDescriptions) {
  for (const field of fieldDescriptions) {
    if (field.dataTypeID === 18 || field.dataTypeID === 19) field.dataTypeID = 25;
  }
  return addFields.call(this, fieldDescriptions);
};

// The adapter's own shadow database ignores the database name in a connection string and
// drops the database while its pool is still open; this one does it in the right order.
class MigratingPrismaPg extends PrismaPg {
  constructor(private readonly url: string) {
    super({ connectionString: url, idleTimeoutMillis: 200 });
  }

  override async connectToShadowDb() {
    const name = `mailharbor_shadow_${Date.now()}_${process.pid}`;
    const admin = new pg.Client({ connectionString: this.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const shadowUrl = new URL(this.url);
    shadowUrl.pathname = `/${name}`;
    const shadow = await new PrismaPg({ connectionString: shadowUrl.toString(), idleTimeoutMillis: 200 }).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      const drop = new pg.Client({ connectionString: this.url });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await drop.end();
    };
    return shadow;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set (run through `npm run db:migrate`, which starts the embedded database)");
    return new MigratingPrismaPg(url);
  },
});
