/** The price table the configured options call for: the bundled table, with the custom prices first when given. */
import { PriceTable, defaultPriceTable } from '../pricing/price-table.js';
import type { ResolvedOptions } from './options.js';

export function priceTableOf(options: Pick<ResolvedOptions, 'prices'>): PriceTable {
  return options.prices === undefined ? defaultPriceTable() : new PriceTable(options.prices);
}
