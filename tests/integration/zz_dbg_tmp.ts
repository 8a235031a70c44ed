import { testDatabase } from "../support/postgres.ts";
import { scanKeys } from "../../src/postgres/snapshot_keys.ts";
const db = await testDatabase("dbg", `CREATE TABLE flags (id uuid PRIMARY KEY, on_off bool);
INSERT INTO flags VALUES ('00000000-0000-0000-0000-000000000002', true), ('00000000-0000-0000-0000-000000000001', false);`);
const t = setTimeout(() => { console.log("hung"); Deno.exit(1); }, 5000);
console.log(await scanKeys(db.sql, {schema:"public",name:"flags"}, ["id","on_off"], {limit: 10}));
console.log(await scanKeys(db.sql, {schema:"public",name:"flags"}, ["id","on_off"], {limit: 10, after: ["00000000-0000-0000-0000-000000000002", "t"]}).catch(e=>String(e)));
clearTimeout(t);
await db.drop();
