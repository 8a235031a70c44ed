import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { tallyJunit } from "../support/junit_summary.ts";

describe("junit summary", () => {
  it("counts_leaf_steps_not_their_describe", () => {
    const xml = `<testsuites>
      <testsuite name="a"><testcase name="grp" classname="a"><failure message="1 test step failed"/></testcase>
      <testcase name="top" classname="a"></testcase></testsuite>
      <testsuite name="x"><testcase name="grp &gt; one" classname="x"></testcase>
      <testcase name="grp &gt; two" classname="x"><failure message="boom"/></testcase></testsuite></testsuites>`;
    assert.deepEqual(tallyJunit(xml), {
      passed: 2,
      failed: 1,
      skipped: 0,
      failures: ["x::grp > two (boom)"],
    });
  });

  it("names_each_failed_leaf_with_the_first_line_of_its_message", () => {
    const xml =
      `<testsuite><testcase name="t" classname="f.ts"><failure message="&#10;AssertionError: 1 !== 2&#10;at x"/></testcase>
      <testcase name="u" classname="f.ts"><error/></testcase></testsuite>`;
    assert.deepEqual(tallyJunit(xml).failures, ["f.ts::t (AssertionError: 1 !== 2)", "f.ts::u"]);
  });

  it("counts_skipped_and_self_closing_cases", () => {
    const xml =
      `<testsuite><testcase name="a" classname="c"/><testcase name="b" classname="c"><skipped/></testcase></testsuite>`;
    assert.deepEqual(tallyJunit(xml), { passed: 1, failed: 0, skipped: 1, failures: [] });
  });
});
