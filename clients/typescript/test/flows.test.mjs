// The example app's every flow against the real server at FLOWHUB_URL (started by
// tests/api/test_typescript_client.py), from the compiled build/.
import assert from "node:assert/strict";
import { test } from "node:test";

import { everyFlow } from "../build/examples/flows.js";

const BASE = process.env.FLOWHUB_URL;

test("every flow of the example app runs against the server", async () => {
  assert.ok(BASE, "FLOWHUB_URL is not set");
  const { steps } = await everyFlow(`${BASE}/api/v1`, `flows${Date.now()}`);
  assert.equal(steps.length, 10, steps.join("\n"));
  assert.match(steps.at(-1), /^catch-up: received seq 1,2, history 2$/);
  console.log(steps.join("\n"));
});
