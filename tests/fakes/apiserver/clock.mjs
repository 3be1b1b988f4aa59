// The fake's clock: real time plus an offset that tests move forward instead of sleeping.
// Everything time-bound in the fake reads it: token expiry (exp claims are checked against
// it, as pkg/serviceaccount/claims.go validator.Validate checks them against time.Now),
// TokenRequest's status.expirationTimestamp, object timestamps, and the Date header of every
// answer, which is how a client learns the apiserver's time.
export class Clock {
  constructor() {
    this.offsetMs = 0;
  }

  now() {
    return Date.now() + this.offsetMs;
  }

  // Moves the clock forward (never back: a real clock does not run backwards).
  advance(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`cannot advance the clock by ${seconds} s`);
    this.offsetMs += seconds * 1000;
    return this.now();
  }

  // RFC 3339 in seconds, as metav1.Time marshals.
  iso(ms = this.now()) {
    return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  }

  // The HTTP Date header value (RFC 7231 IMF-fixdate).
  httpDate() {
    return new Date(this.now()).toUTCString();
  }
}
