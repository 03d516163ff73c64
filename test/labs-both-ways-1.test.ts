// Every lab both ways — standalone and through the service — part 1 of 2 (./helpers/labs-both-ways.ts).
import { everyLabBothWays } from './helpers/labs-both-ways';

everyLabBothWays(0, 'cllabbw0', '10.77.143.0/24');
