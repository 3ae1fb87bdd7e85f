"""Heatmaps of a handful of faces in about 15 lines: explain with any explainer, warp the maps
into the template face with each face's 68 landmarks, score them against Ekman's regions.
No weights to download: an untrained network (load your own with model.load_state_dict)."""

import torch

import ferlens
from ferlens.datamodules.synthetic import SyntheticFaces  # stands in for your faces and their landmarks

faces = [SyntheticFaces(num_images=12, num_subjects=2, image_size=64, seed=0)[i] for i in range(12)]
images = torch.stack([torch.from_numpy(face.image).permute(2, 0, 1).float() / 255 for face in faces])  # [12, 3, 64, 64] in [0, 1]
landmarks = torch.stack([torch.from_numpy(face.landmarks) for face in faces])  # [12, 68, 2] image pixels
labels = torch.as_tensor([face.label for face in faces])

torch.manual_seed(0)
model = ferlens.build_network("smallcnn", num_classes=6).eval()  # or any nn.Module with a cam_layer
maps = ferlens.build_explainer("gradcampp")(model, images, labels)  # [12, 64, 64]
warped = ferlens.TemplateWarper().to_template(maps, landmarks)  # [12, 275, 224] template pixels
scores = ferlens.score_maps(warped.numpy(), ferlens.ekman_family())  # {metric: [12 maps, 6 masks]}
print("IoU with the Ekman mask of each face's own class:", scores["iou"][range(12), labels.numpy()].round(3))
