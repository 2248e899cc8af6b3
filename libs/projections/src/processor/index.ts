export * from './checkpoint';
export * from './projection-writer';
export * from './projector';
export * from './rebuild-into';
export * from './rebuild-files';
