"""The targeting model: learns from labelled history (inspection results, an administration's own
declarations) which parcels most likely hide an infringement and how much revenue is at stake."""
