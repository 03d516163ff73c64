/*
 * Every level of the learning path, checked against real containers (see ./labs-harness.ts).
 */
import { labSuite } from './labs-harness';

labSuite('level', 'cllabl0', '10.77.121.0/24');
