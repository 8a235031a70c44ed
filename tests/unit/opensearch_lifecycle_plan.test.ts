import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  generationBody,
  planEnsure,
  planReindex,
  planSeeded,
  statusOf,
  withCursor,
} from "../../src/opensearch/lifecycle_plan.ts";
import type { IndexRecord } from "../../src/opensearch/meta_store.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const A = "aaaaaaaa11111111";
const B = "bbbbbbbb22222222";
const def = (schemaHash: string) => ({ index: "users", schemaHash });

function seededAt(hash: string, generation: number): IndexRecord {
  return {
    index: "users",
    active: {
      generation,
      schemaHash: hash,
      name: `p_users_${hash.slice(0, 8)}_${generation}`,
      seededAt: NOW,
    },
    retired: [],
    updatedAt: NOW,
  };
}

describe("lifecycle plan", () => {
  it("starts_generation_1_unseeded_on_first_start", () => {
    const plan = planEnsure(undefined, def(A), "p_", NOW);
    assert.equal(plan.create?.name, "p_users_aaaaaaaa_1");
    assert.equal(plan.create?.reason, "initial");
    assert.equal(plan.record.active, undefined);
    assert.deepEqual(statusOf(plan.record), { index: "users", seeded: false, generation: 1 });
  });

  it("is_idempotent_when_nothing_changed", () => {
    const first = planEnsure(undefined, def(A), "p_", NOW).record;
    const again = planEnsure(first, def(A), "p_", NOW);
    assert.equal(again.create, undefined);
    assert.deepEqual(again.record.building, first.building);
    const seeded = seededAt(A, 3);
    const steady = planEnsure(seeded, def(A), "p_", NOW);
    assert.equal(steady.create, undefined);
    assert.deepEqual(statusOf(steady.record), { index: "users", seeded: true, generation: 3 });
  });

  it("builds_a_new_generation_on_schema_change_while_the_old_one_keeps_serving", () => {
    const plan = planEnsure(seededAt(A, 3), def(B), "p_", NOW);
    assert.equal(plan.record.active?.name, "p_users_aaaaaaaa_3");
    assert.equal(plan.create?.name, "p_users_bbbbbbbb_4");
    assert.equal(plan.create?.reason, "schema_change");
    assert.deepEqual(plan.record.retired, []);
    assert.equal(statusOf(plan.record).seeded, false);
  });

  it("resumes_a_building_generation_of_the_same_schema_with_its_cursor", () => {
    const building = withCursor(planEnsure(seededAt(A, 3), def(B), "p_", NOW).record, ["42"], NOW)!;
    const plan = planEnsure(building, def(B), "p_", NOW);
    assert.equal(plan.create, undefined);
    assert.deepEqual(statusOf(plan.record), {
      index: "users",
      seeded: false,
      generation: 4,
      backfillCursor: ["42"],
    });
  });

  it("retires_a_building_generation_of_an_abandoned_schema", () => {
    const building = planEnsure(seededAt(A, 3), def(B), "p_", NOW).record;
    const reverted = planEnsure(building, def(A), "p_", NOW);
    assert.equal(reverted.create, undefined);
    assert.equal(reverted.record.building, undefined);
    assert.deepEqual(reverted.record.retired, ["p_users_bbbbbbbb_4"]);
    const third = planEnsure(building, def("cccccccc"), "p_", NOW);
    assert.equal(third.create?.name, "p_users_cccccccc_5");
    assert.deepEqual(third.record.retired, ["p_users_bbbbbbbb_4"]);
  });

  it("seeding_swaps_the_serving_generation_and_retires_the_old_one", () => {
    const building = planEnsure(seededAt(A, 3), def(B), "p_", NOW).record;
    const seeded = planSeeded(building, NOW)!;
    assert.equal(seeded.active?.name, "p_users_bbbbbbbb_4");
    assert.equal(seeded.building, undefined);
    assert.deepEqual(seeded.retired, ["p_users_aaaaaaaa_3"]);
    assert.equal(planSeeded(seeded, NOW), undefined);
  });

  it("reindex_starts_the_next_generation", () => {
    const plan = planReindex(seededAt(A, 3), def(A), "p_", NOW);
    assert.equal(plan.create.name, "p_users_aaaaaaaa_4");
    assert.equal(plan.create.reason, "reindex");
    assert.equal(plan.record.active?.generation, 3);
    assert.deepEqual(plan.record.retired, []);
  });

  it("reindex_during_a_build_retires_that_build_and_starts_an_empty_generation", () => {
    // A TRUNCATE during a rebuild: the generation being built may hold documents of rows the
    // TRUNCATE removed, which a backfill from current rows would never delete.
    const first = planReindex(seededAt(A, 3), def(A), "p_", NOW).record;
    const again = planReindex(first, def(A), "p_", NOW);
    assert.equal(again.create.name, "p_users_aaaaaaaa_5");
    assert.equal(again.record.building?.name, "p_users_aaaaaaaa_5");
    assert.equal(again.record.active?.name, "p_users_aaaaaaaa_3");
    assert.deepEqual(again.record.retired, ["p_users_aaaaaaaa_4"]);
  });

  it("creates_generations_with_refresh_off_and_default_shards", () => {
    const body = {
      settings: { index: { refresh_interval: "5s", number_of_replicas: 0 }, analysis: {} },
      mappings: { dynamic: "strict" },
    };
    const out = generationBody(body, { numberOfShards: 2, numberOfReplicas: 1 });
    assert.deepEqual(out.settings, {
      index: { number_of_replicas: 0 },
      analysis: {},
      number_of_shards: 2,
      refresh_interval: "-1",
    });
    assert.deepEqual(body.settings.index.refresh_interval, "5s");
  });
});
