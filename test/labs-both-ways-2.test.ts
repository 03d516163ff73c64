// Every lab both ways — standalone and through the service — part 2 of 2 (./helpers/labs-both-ways.ts).
import { everyLabBothWays } from './helpers/labs-both-ways';

everyLabBothWays(1, 'cllabbw1', '10.77.144.0/24');
