/** The user dismissed a quick pick or input box: the command stops quietly, with no error shown. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}
