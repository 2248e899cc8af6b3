export * from './errors';
export * from './certificates';
export * from './duis';
export * from './registrations-csv';
