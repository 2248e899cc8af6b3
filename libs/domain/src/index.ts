export * from './identifiers';
export * from './catalogue';
export * from './events';
export * from './state';
export * from './rule-sets';
export * from './request';
export * from './evaluate';
export * from './stuck';
export { DUIS_MATRIX, SRV_SUPPLEMENT, type MatrixRow, type FutureDating, type SrvSupplement } from './srv-table';
