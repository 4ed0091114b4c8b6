"""Act stage: extract the agreed commands, check them with the guard, run and report them."""
