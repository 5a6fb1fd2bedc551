import { FatalError } from '../../errors.ts';
import type { AttributeMapping } from '../attribute-mapping.ts';
import { openldapSamba } from './openldap-samba.ts';

const PRESETS: ReadonlyMap<string, AttributeMapping> = new Map([[openldapSamba.preset, openldapSamba]]);

export const PRESET_NAMES: readonly string[] = [...PRESETS.keys()];

export function presetByName(name: string): AttributeMapping {
  const preset = PRESETS.get(name);
  if (preset === undefined) throw new FatalError('PRESET_UNKNOWN', `unknown preset ${JSON.stringify(name)}; known: ${PRESET_NAMES.join(', ')}`);
  return preset;
}
