"""The files a notebook needs beside it: which travel, their hashes in the host cache, and what changed since."""
