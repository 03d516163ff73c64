/*
 * Every CKA-style exercise, checked against real containers (see ./labs-harness.ts).
 */
import { labSuite } from './labs-harness';

labSuite('exercise', 'cllabx0', '10.77.122.0/24');
