/**
 * *.schema.yml → plain value plus the position of every key and value, using the `yaml`
 * package (Document API with a LineCounter). Duplicate keys are syntax errors.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigSyntaxError } from "./errors.ts";
import {
  type DocPath,
  type NodePosition,
  pathKey,
  type Position,
  type SourceDocument,
} from "./position.ts";

/**
 * Parses YAML text. Returns the document, or the syntax errors found (every one, each with
 * its position), since a YAML file can have several independent mistakes.
 */
export function parseYamlSource(
  file: string,
  text: string,
): SourceDocument | ConfigSyntaxError[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return new ConfigSyntaxError(`invalid YAML: ${firstLine(e.message)}`, {
        file,
        position: { line: at.line, column: at.col },
      });
    });
  }
  const positions = new Map<string, NodePosition>();
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  positions.set(pathKey([]), { value: { line: 1, column: 1 } });
  if (doc.contents) walk(doc.contents as Node, [], positions, at);
  return { file, text, value: doc.toJS({ maxAliasCount: 100 }) ?? null, positions };
}

function walk(
  node: Node,
  path: DocPath,
  positions: Map<string, NodePosition>,
  at: (offset: number) => Position,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const keyAt = pair.key && (pair.key as Node).range
        ? at((pair.key as Node).range![0])
        : undefined;
      const value = pair.value as Node | null;
      const valueAt = value?.range ? at(value.range[0]) : keyAt;
      if (!valueAt) continue;
      positions.set(pathKey([...path, key]), { key: keyAt, value: valueAt });
      if (value) walk(value, [...path, key], positions, at);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const child = item as Node;
      if (!child?.range) return;
      positions.set(pathKey([...path, i]), { value: at(child.range[0]) });
      walk(child, [...path, i], positions, at);
    });
  }
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/\s+at line \d+, column \d+:?$/, "");
}
