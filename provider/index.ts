// The Pulumi program (Pulumi.yaml: main provider/): reads the stack config, validates the manifests
// as `exportctl validate` does, and declares one resource per manifest. The stack outputs are each
// resource's status. Import `./dynamic`, `./resources` or `./program` to build a program of your own.
import { runProgram } from './program';

export = runProgram();
