import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  typedValue,
  TypedValueError,
  TypeOid,
} from "../../src/postgres/replication/typed_value.ts";

describe("typed key values from text output", () => {
  it("converts_integers_to_number_and_bigint_to_bigint_without_rounding", () => {
    assert.equal(typedValue(TypeOid.int4, "-42"), -42);
    assert.equal(typedValue(TypeOid.int2, "7"), 7);
    assert.equal(typedValue(TypeOid.int8, "9007199254740993"), 9007199254740993n);
  });

  it("keeps_numeric_exact_as_a_string", () => {
    assert.equal(
      typedValue(TypeOid.numeric, "12345678901234567890.000000001"),
      "12345678901234567890.000000001",
    );
    assert.equal(typedValue(TypeOid.numeric, "NaN"), "NaN");
  });

  it("reads_bool_text_output_as_boolean", () => {
    assert.equal(typedValue(TypeOid.bool, "t"), true);
    assert.equal(typedValue(TypeOid.bool, "f"), false);
  });

  it("passes_uuid_and_text_through_as_strings_and_null_as_null", () => {
    assert.equal(
      typedValue(TypeOid.uuid, "6F1B0B4E-52A5-4A53-9F0B-0C2A9A3B1D11"),
      "6f1b0b4e-52a5-4a53-9f0b-0c2a9a3b1d11",
    );
    assert.equal(typedValue(TypeOid.text, "x y"), "x y");
    assert.equal(typedValue(TypeOid.int4, null), null);
  });

  it("rejects_text_that_is_not_valid_for_the_type", () => {
    assert.throws(() => typedValue(TypeOid.int8, "12a"), TypedValueError);
    assert.throws(() => typedValue(TypeOid.bool, "yes"), TypedValueError);
    assert.throws(() => typedValue(TypeOid.uuid, "nope"), TypedValueError);
  });
});
