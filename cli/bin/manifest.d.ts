import type { Interfaces } from '@oclif/core';

export declare const cliRoot: string;
export declare function manifestFile(root?: string): string;
export declare function buildManifest(root?: string): Promise<Interfaces.Manifest>;
export declare function writeManifest(root?: string): Promise<string>;
export declare function manifestIsStale(root?: string): boolean;
