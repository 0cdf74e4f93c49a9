package main

import "github.com/fjordlb/fjord/engine"

// probeKernel is engine.ProbeKernel, replaceable by tests: 'fjord -c'
// loads the sockmap program once for 'tune.sockmap on', as fjord would
// at startup, so that a configuration this host cannot run is not valid.
var probeKernel = engine.ProbeKernel
