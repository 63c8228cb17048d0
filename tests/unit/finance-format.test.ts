import { formatMoney } from '../../server/tools/finance-format';

describe('formatMoney', () => {
  test.each([
    [0, 'USD', 'USD 0.00'],
    [5, 'USD', 'USD 0.05'],
    [100, 'USD', 'USD 1.00'],
    [-5, 'EUR', 'EUR -0.05'],
    [99999, 'USD', 'USD 999.99'],
    [100000, 'USD', 'USD 1,000.00'],
    [123456789, 'USD', 'USD 1,234,567.89'],
    [-123456789, 'GBP', 'GBP -1,234,567.89'],
    [500, 'JPY', 'JPY 500'],
    [1234567, 'JPY', 'JPY 1,234,567'],
    [1234, 'BHD', 'BHD 1.234'],
    [Number.MAX_SAFE_INTEGER, 'USD', 'USD 90,071,992,547,409.91'],
  ])('%d %s is %s', (amountMinor, currency, text) => {
    expect(formatMoney({ amountMinor, currency })).toBe(text);
  });
});
