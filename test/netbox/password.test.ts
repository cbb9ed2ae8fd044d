import { describe, expect, it } from 'vitest';
import { derivePassword } from '../../src/netbox/password.js';

describe('derivePassword', () => {
  it('is deterministic, case-insensitive in the username and specific to user and secret', () => {
    expect(derivePassword('s', 'alice')).toBe(derivePassword('s', 'alice'));
    expect(derivePassword('s', 'Alice')).toBe(derivePassword('s', 'alice'));
    expect(derivePassword('s', 'bob')).not.toBe(derivePassword('s', 'alice'));
    expect(derivePassword('t', 'alice')).not.toBe(derivePassword('s', 'alice'));
  });

  it("always passes NetBox's validators: 12+ characters, upper, lower, digit, no whitespace", () => {
    for (let i = 0; i < 200; i++) {
      const password = derivePassword(`secret-${i}`, `user${i}`);
      expect(password.length).toBeGreaterThanOrEqual(12);
      expect(password.length).toBeLessThanOrEqual(128);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).not.toMatch(/\s/);
    }
  });

  it('refuses an empty secret', () => {
    expect(() => derivePassword('', 'alice')).toThrow();
  });
});
