"""Layer 3: the wire. Sending requests (live), recording and replaying them (vcrpy cassettes), reading
recordings (the audit), and the Exchange every later layer judges."""
