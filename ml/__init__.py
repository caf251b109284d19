"""sitslab's machine-learning package: data, U-BARN, the OSO Random Forest, metrics, maps.

It never imports the web backend: the backend talks to it through job parameters
and files (training-set snapshots, checkpoints, results JSON, COGs).
"""
