"""Layer 4: what an answer means. Streams reassembled into objects, their grammar problems, and the
API-neutral Observation of a generation result that behavioural and cross-API checks compare."""
