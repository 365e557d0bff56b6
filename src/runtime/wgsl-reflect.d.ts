// Types for the ESM build of wgsl_reflect, which is the one that loads in Node (the package's
// `main` exports nothing to ESM importers); its types are the package's own.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
