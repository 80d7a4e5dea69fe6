import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../src/logThrottle.js';

describe('LogThrottle', () => {
  it('passes one line per key per interval and reports how many it suppressed, for any burst size', async () => {
    for (const burst of [1, 2, 10, 250]) {
      const throttle = new LogThrottle(40);
      const passed = Array.from({ length: burst }, () => throttle.take('redis'));
      expect(passed.filter((pass) => pass !== null)).toEqual([{ suppressed: 0 }]);
      // Another key is independent.
      expect(throttle.take('other')).toEqual({ suppressed: 0 });
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(throttle.take('redis')).toEqual({ suppressed: burst - 1 });
    }
  });
});
