// Name → method. Every method exposes both forms behind the one `Method` interface.
import { LossInputError } from './common';
import { barlowTwins } from './barlow-twins';
import { byol } from './byol';
import { moco } from './moco';
import { simclr } from './simclr';
import { simsiam } from './simsiam';
import { unigrad } from './unigrad';
import { vicreg } from './vicreg';
import { METHOD_NAMES, type Method, type MethodName } from './types';

export const METHODS: Readonly<Record<MethodName, Method>> = {
  moco,
  simclr,
  simsiam,
  byol,
  vicreg,
  barlow_twins: barlowTwins,
  unigrad,
};

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

export function getMethod(name: string): Method {
  if (!isMethodName(name)) {
    throw new LossInputError(`unknown method ${JSON.stringify(name)}; valid methods: ${METHOD_NAMES.join(', ')}`);
  }
  return METHODS[name];
}
