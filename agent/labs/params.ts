/*
 * Parameter rules for the `lab.*` methods, in the format of agent/service/params.ts (which merges
 * them into its table): every lab method names its lab by id; lab.solve may ask for the partial
 * solution. Kept free of imports so the validator does not pull the lab engine in.
 */
const labId = { type: 'string', required: true } as const;

export const LAB_PARAM_RULES = {
  'lab.list': {},
  'lab.show': { id: labId },
  'lab.start': { id: labId },
  'lab.check': { id: labId },
  'lab.reset': { id: labId },
  'lab.stop': { id: labId },
  'lab.solution': { id: labId },
  'lab.solve': { id: labId, partial: { type: 'boolean' } },
} as const;
