"""Tests of uploading to the channel: the upload, the --replace safety net, files, token."""
