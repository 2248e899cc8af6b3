export * from './estate';
export * from './proxy-disagreements';
export * from './stuck-devices';
