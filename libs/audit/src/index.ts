export * from './replay';
export * from './what-if';
export * from './tamper';
export * from './jobs';
export * from './reports';
