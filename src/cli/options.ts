import { InvalidArgumentError, Option } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number of 1 or more`);
  return n;
}

export const configOption = () =>
  new Option('-c, --config <file>', 'cluster description (YAML); default ./cluster.yaml if present, else the built-in lab');
export const outOption = () => new Option('-o, --out <dir>', 'the PKI folder').default('pki');
export const jsonOption = () => new Option('--json', 'print a machine-readable result instead of text');
export const caPassphraseOption = () =>
  new Option(
    '--ca-passphrase-file <file>',
    "the file whose first line is the root CA key's passphrase (rootCA); default $KUBE_PKI_CA_PASSPHRASE_FILE. Needed only when the root signs something",
  );

/** A repeatable option's values, in order. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
export const caPinOption = () =>
  new Option(
    '--ca-pin-file <file>',
    "the file whose first line is the user PIN of the token that holds the root CA key (rootCA.pkcs11); default $KUBE_PKI_CA_PIN_FILE. Needed only when the root signs something",
  );
