/**
 * flusso.toml → plain value plus the position of every key and value, using
 * toml-eslint-parser (a maintained TOML 1.0 parser that keeps an AST with locations).
 */
import { getStaticTOMLValue, parseTOML } from "toml-eslint-parser";
import type { AST } from "toml-eslint-parser";
import { ConfigSyntaxError } from "./errors.ts";
import { type DocPath, type NodePosition, pathKey, type SourceDocument } from "./position.ts";

/** Parses TOML text; throws ConfigSyntaxError with the position of the first syntax error. */
export function parseTomlSource(file: string, text: string): SourceDocument {
  let ast: AST.TOMLProgram;
  try {
    ast = parseTOML(text);
  } catch (error) {
    const e = error as { lineNumber?: number; column?: number; message?: string };
    throw new ConfigSyntaxError(`invalid TOML: ${e.message ?? String(error)}`, {
      file,
      position: { line: e.lineNumber ?? 1, column: (e.column ?? 0) + 1 },
    });
  }
  const positions = new Map<string, NodePosition>();
  const top = ast.body[0];
  positions.set(pathKey([]), { value: { line: 1, column: 1 } });
  for (const node of top.body) {
    if (node.type === "TOMLTable") {
      const at = toPosition(node.loc.start);
      for (let n = 1; n <= node.resolvedKey.length; n++) {
        const prefix = node.resolvedKey.slice(0, n);
        if (!positions.has(pathKey(prefix))) positions.set(pathKey(prefix), { key: at, value: at });
      }
      for (const kv of node.body) walkKeyValue(kv, node.resolvedKey, positions);
    } else {
      walkKeyValue(node, [], positions);
    }
  }
  return { file, text, value: getStaticTOMLValue(ast), positions };
}

function walkKeyValue(
  kv: AST.TOMLKeyValue,
  base: DocPath,
  positions: Map<string, NodePosition>,
): void {
  const names = kv.key.keys.map((k) => (k.type === "TOMLBare" ? k.name : k.value));
  const keyAt = toPosition(kv.key.loc.start);
  for (let n = 1; n < names.length; n++) {
    const prefix = [...base, ...names.slice(0, n)];
    if (!positions.has(pathKey(prefix))) {
      positions.set(pathKey(prefix), { key: keyAt, value: keyAt });
    }
  }
  const path = [...base, ...names];
  positions.set(pathKey(path), { key: keyAt, value: toPosition(kv.value.loc.start) });
  walkValue(kv.value, path, positions);
}

function walkValue(
  node: AST.TOMLContentNode,
  path: DocPath,
  positions: Map<string, NodePosition>,
): void {
  if (node.type === "TOMLInlineTable") {
    for (const kv of node.body) walkKeyValue(kv, path, positions);
  } else if (node.type === "TOMLArray") {
    node.elements.forEach((element, i) => {
      positions.set(pathKey([...path, i]), { value: toPosition(element.loc.start) });
      walkValue(element, [...path, i], positions);
    });
  }
}

function toPosition(p: { line: number; column: number }): { line: number; column: number } {
  return { line: p.line, column: p.column + 1 };
}
