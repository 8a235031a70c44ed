/**
 * The administrative calls the lifecycle makes (create, delete, refresh, settings, aliases),
 * each turning client failures into the sink's error kinds and naming what was being done.
 */
import type { Client } from "@opensearch-project/opensearch";
import { TransientSinkError } from "../engine/ports.ts";
import { SinkRequestError } from "./errors.ts";
import { classifyRequestError } from "./retry.ts";

/** The error to throw for `error` raised while doing `what`: transient or fatal. */
export function adminError(what: string, error: unknown): Error {
  const failure = classifyRequestError(error);
  if (failure.kind === "transient") {
    return new TransientSinkError(`${what}: ${failure.message}`, { cause: error });
  }
  const status = failure.kind === "fatal" ? failure.status : 413;
  return new SinkRequestError(what, status, failure.message, { cause: error });
}

/** Runs one administrative request; failures become `TransientSinkError` or `SinkRequestError`. */
export async function adminCall<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw adminError(what, error);
  }
}

/** Whether a concrete index (or alias) named `name` exists. */
export async function indexExists(client: Client, name: string): Promise<boolean> {
  const response = await adminCall(
    `checking index ${name}`,
    () => client.indices.exists({ index: name }, { ignore: [404] }),
  );
  return response.body === true;
}

/** Creates `name` unless it exists; true when this call created it. */
export async function createIndexIfMissing(
  client: Client,
  name: string,
  body: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  if (await indexExists(client, name)) return false;
  const response = await adminCall(
    `creating index ${name}`,
    () => client.indices.create({ index: name, body: body as never }, { ignore: [400] }),
  );
  if (response.statusCode === 400) {
    const type = (response.body as { error?: { type?: string } }).error?.type;
    // Another process created it between the check and the create.
    if (type === "resource_already_exists_exception") return false;
    throw new SinkRequestError(`creating index ${name}`, 400, JSON.stringify(response.body));
  }
  return true;
}

/** Deletes a concrete index; a missing one is fine. */
export async function deleteIndexIfExists(client: Client, name: string): Promise<void> {
  await adminCall(
    `deleting index ${name}`,
    () => client.indices.delete({ index: name }, { ignore: [404] }),
  );
}

/** Makes every write to `name` visible to search. */
export async function refreshIndex(client: Client, name: string): Promise<void> {
  await adminCall(`refreshing index ${name}`, () => client.indices.refresh({ index: name }));
}

/** Sets `index.refresh_interval` (`-1` turns periodic refresh off). */
export async function setRefreshInterval(
  client: Client,
  name: string,
  interval: string,
): Promise<void> {
  await adminCall(
    `setting refresh_interval of ${name} to ${interval}`,
    () =>
      client.indices.putSettings({ index: name, body: { index: { refresh_interval: interval } } }),
  );
}

/** The concrete indexes `alias` points at now (empty when the alias does not exist). */
export async function aliasTargets(client: Client, alias: string): Promise<string[]> {
  const response = await adminCall(
    `reading alias ${alias}`,
    () => client.indices.getAlias({ name: alias }, { ignore: [404] }),
  );
  if (response.statusCode === 404) return [];
  const body = response.body as Record<string, { aliases?: Record<string, unknown> }>;
  return Object.keys(body).filter((index) => body[index]?.aliases?.[alias] !== undefined).sort();
}

/**
 * Points `alias` at `target` alone, in one `_aliases` request: readers see either the old
 * index or the new one, never neither.
 */
export async function pointAlias(client: Client, alias: string, target: string): Promise<void> {
  const current = await aliasTargets(client, alias);
  if (current.length === 1 && current[0] === target) return;
  const actions: Record<string, unknown>[] = current
    .filter((index) => index !== target)
    .map((index) => ({ remove: { index, alias } }));
  actions.push({ add: { index: target, alias } });
  await adminCall(
    `pointing alias ${alias} at ${target}`,
    () => client.indices.updateAliases({ body: { actions } as never }),
  );
}
