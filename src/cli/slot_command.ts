/**
 * The definition of `flusso slot status|drop` (names, options, help); the work is in slot.ts,
 * loaded only when a subcommand runs so `flusso --help` stays fast.
 */
import { Command, Option } from "@commander-js/extra-typings";
import type { SlotDeps } from "./slot.ts";

const configOption = () =>
  new Option("-c, --config <file>", "path of flusso.toml").env("FLUSSO_CONFIG")
    .makeOptionMandatory();

/**
 * The `flusso slot` command with its `status` and `drop` subcommands; `deps` replaces the
 * config loader and the output (tests), default the real ones.
 */
export function slotCommand(deps?: SlotDeps) {
  const slot = new Command("slot").description(
    "inspect or drop the replication slot (and publication) of a configuration",
  );
  slot.command("status")
    .description("show the slot's position, lag, wal_status and safe_wal_size")
    .addOption(configOption())
    .option("--json", "print one JSON object")
    .action(async (options) => {
      const { defaultSlotDeps, runSlotStatus } = await import("./slot.ts");
      await runSlotStatus(deps ?? defaultSlotDeps(), options);
    });
  slot.command("drop")
    .description(
      "drop the slot: the next start creates a new one and re-seeds every index (changes made " +
        "while no slot exists reach the indexes only through that re-seed)",
    )
    .addOption(configOption())
    .option("--force", "terminate the connection streaming from the slot first")
    .option("--publication", "drop the publication too")
    .action(async (options) => {
      const { defaultSlotDeps, runSlotDrop } = await import("./slot.ts");
      await runSlotDrop(deps ?? defaultSlotDeps(), options);
    });
  return slot;
}
