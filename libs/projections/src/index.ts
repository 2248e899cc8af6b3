export * from './read-models';
export * from './projector';
export * from './stuck-report';
export * from './projections.module';
export * from './chain-check';
export * from './rebuild-into';
