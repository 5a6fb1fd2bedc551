import { FatalError } from '../../errors.ts';
import type { AttributeMapping } from '../attribute-mapping.ts';
import { ad } from './ad.ts';
import { freeipa } from './freeipa.ts';
import { openldapSamba } from './openldap-samba.ts';

const PRESETS: ReadonlyMap<string, AttributeMapping> = new Map([openldapSamba, freeipa, ad].map((p) => [p.preset, p]));

/** The preset names, in the order they are offered: openldap-samba, freeipa, ad. */
export const PRESET_NAMES: readonly string[] = Object.freeze([...PRESETS.keys()]);

/** A preset by name; an unknown name is FatalError PRESET_UNKNOWN naming the known ones. */
export function presetByName(name: string): AttributeMapping {
  const preset = PRESETS.get(name);
  if (preset === undefined) throw new FatalError('PRESET_UNKNOWN', `unknown preset ${JSON.stringify(name)}; known: ${PRESET_NAMES.join(', ')}`);
  return preset;
}
