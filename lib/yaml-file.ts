// A YAML (or JSON) file a user wrote (a suite, a targets file): parsed once, and every error about
// it names the file, the line and the field ("suite s.yaml, line 7, workloads[1].kind").
import { optionError } from './errors';

export interface YamlFile {
  data: unknown;
  /** "LABEL, line N, a.b[2].c" for a path into the document (the line where the document has it). */
  where(path: (string | number)[]): string;
}

/** `label` starts every message ("suite FILE"); `option` is the option the errors are about. */
export function parseYamlFile(text: string, label: string, option: string): YamlFile {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const YAML = require('yaml') as typeof import('yaml');
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
  if (doc.errors.length) throw optionError(option, `${label}, line ${lineAt(doc.errors[0]!.pos[0])}: ${doc.errors[0]!.message.split('\n')[0]}`);
  const where = (path: (string | number)[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
    const field = path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('').replace(/^\./, '');
    return `${label}${node?.range ? `, line ${lineAt(node.range[0])}` : ''}, ${field || 'top level'}`;
  };
  return { data: doc.toJS(), where };
}
